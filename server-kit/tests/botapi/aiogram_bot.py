"""An ordinary aiogram 3.31.0 bot, long polling, pointed at our Bot API by its base URL only
(`TelegramAPIServer.from_base`). Run by server-kit/tests/botapi_ptb.rs:

    python aiogram_bot.py BASE TOKEN      (BASE: http://127.0.0.1:PORT)

The same bot as ptb_echo_bot.py: commands set at start; /start answered "Hi NAME! Send me
text." (NAME from getChat) with an inline keyboard; the callback button answered "You pressed
it!" and the message edited to "Pressed pressed!"; /bold in HTML; /delete answered "this goes
away", then deleted; other text echoed as a reply after a "typing" action.
"""
import asyncio
import logging
import sys

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart
from aiogram.types import (BotCommand, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup,
                           Message)

BASE, TOKEN = sys.argv[1], sys.argv[2]
dp = Dispatcher()


@dp.message(CommandStart())
async def start(message: Message, bot: Bot) -> None:
    chat = await bot.get_chat(message.chat.id)
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="Press me", callback_data="pressed"),
        InlineKeyboardButton(text="Site", url="https://example.com/"),
    ]])
    await message.answer(f"Hi {chat.first_name}! Send me text.", reply_markup=keyboard)


@dp.callback_query()
async def pressed(query: CallbackQuery) -> None:
    await query.answer("You pressed it!")
    await query.message.edit_text(f"Pressed {query.data}!")


@dp.message(Command("bold"))
async def bold(message: Message) -> None:
    await message.answer("<b>bold</b> and <i>italic</i>", parse_mode="HTML")


@dp.message(Command("delete"))
async def delete(message: Message) -> None:
    doomed = await message.answer("this goes away")
    await asyncio.sleep(1)
    await doomed.delete()


@dp.message(F.text)
async def echo(message: Message, bot: Bot) -> None:
    await bot.send_chat_action(message.chat.id, "typing")
    await message.reply(message.text)


async def main() -> None:
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
    session = AiohttpSession(api=TelegramAPIServer.from_base(BASE))
    bot = Bot(TOKEN, session=session)
    await bot.set_my_commands([BotCommand(command="start", description="Say hello"),
                               BotCommand(command="delete", description="Watch a message go")])
    commands = await bot.get_my_commands()
    assert [c.command for c in commands] == ["start", "delete"], commands
    print("polling", flush=True)
    await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types())


if __name__ == "__main__":
    asyncio.run(main())
